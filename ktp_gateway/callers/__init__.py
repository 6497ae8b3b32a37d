"""Callers: the client applications allowed to use the API, their credentials and their policy."""
