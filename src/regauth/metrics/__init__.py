"""Metrics: what a process counts (`counts`, plain ints) and how /metrics shows it (`exposition`)."""
