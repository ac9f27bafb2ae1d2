$mode = 0789
file { "/tmp/x": mode => $mode }
