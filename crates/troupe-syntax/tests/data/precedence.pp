$a = 1 + 2 * 3 - 4 / 2 % 3
$b = $x == 1 and $y != 2 or !$z
$c = $x in ['a', 'b'] and $s =~ /^a/
$d = -$x + *$y
$e = $a < $b == $c
$f = $x == 1 ? { true => 'y', default => 'n' }
$g = $a and $b ? { true => 1 }
$h = $x << 2 >> 1
$i = $list[1][-1]
$j = $h['a']['b']
$k = $s[1, 2]
$l = [$a, $b] = [1, 2]
$m = $n = 3
$o = !$a.empty
$p = -$x[0]
$q = 1 - -1
