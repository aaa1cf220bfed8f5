"""The web page for people: server-rendered pages over the same services as the API."""
