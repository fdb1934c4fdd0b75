"""Reading: from a file's bytes to the orders in it (an RDF graph each) and the places findings are pinned to."""
