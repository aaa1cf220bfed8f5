"""The pages' handlers: each reads its form through `boundary`, calls a service, renders."""
