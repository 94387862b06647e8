"""The routing layer behind the public façade ``trioapi.routing``."""
