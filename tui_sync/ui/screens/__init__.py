"""One screen per pane, and the modal dialogs."""
