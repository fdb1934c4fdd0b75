"""IRIs the code needs to name: the project's namespaces and the context IRI."""

from rdflib import Namespace

ONTOLOGY = "https://w3id.org/protovalidate/ontology"  # the ontology node: the knowledge base's version is said of it
PV = Namespace("https://w3id.org/protovalidate/ontology#")
PVS = Namespace("https://w3id.org/protovalidate/shapes#")
PVR = Namespace("https://w3id.org/protovalidate/report#")  # where a finding was found, in --format shacl
SH = Namespace("http://www.w3.org/ns/shacl#")
DCT = Namespace("http://purl.org/dc/terms/")

# The order contract's context IRI. It resolves to the copy shipped in this
# package; it is never fetched.
CONTEXT_V1 = "https://w3id.org/protovalidate/context/v1.jsonld"
