"""Running the service: the supervisor, its workers and the hand-off of connections between them."""
