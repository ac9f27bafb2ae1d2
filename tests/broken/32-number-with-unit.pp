$timeout = 10m
