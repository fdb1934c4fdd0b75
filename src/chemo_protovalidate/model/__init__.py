"""The ground floor: the finding model, the RDF vocabulary and terms, the version. Every room imports it; it imports none."""
