"""What the tests share (no tests here): the test data's one vocabulary (world.py) and
the named worlds made with it, the conversation client, the running front doors over
the fake messengers' servers, the API server, and the pytest plugins."""
