notify { "x": } { }
