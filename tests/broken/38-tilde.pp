$a = $b ~ $c
