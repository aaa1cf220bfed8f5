"""The PostgreSQL store: the same schema as SQLite's, for replicas that share one database."""
