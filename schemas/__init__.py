"""The JSON Schemas that are cdhelper's contract, installed as ``cdhelper.schemas``."""
