"""One module per group of routes: parse input, call one service, render the result."""
