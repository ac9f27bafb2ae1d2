$f = [1].map |*$a, $b| { $b }
