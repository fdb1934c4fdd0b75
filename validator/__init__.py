"""protovalidate: checks chemotherapy orders against their regimen protocols.

The clinical knowledge is data shipped inside this package: the ontology and
the regimens (``ontology/``), the rules as SHACL shapes (``shapes/``) and the
JSON-LD context of the order format (``ontology/context/``). The code reads
orders, runs the shapes over them and reports what they find.
"""

__version__ = "0.2.0"
