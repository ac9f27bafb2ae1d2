$x = "abc ${foo"
