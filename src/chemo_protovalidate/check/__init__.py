"""Checking: the knowledge base, the rule catalogue, the engines that run the shapes, and the pipeline every front door calls."""
