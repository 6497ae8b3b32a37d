"""The SAM application: opening it with the reader's activation values, and the card relay."""
