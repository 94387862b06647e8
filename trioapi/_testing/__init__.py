"""Machinery behind trioapi.testclient and trioapi.testing."""
