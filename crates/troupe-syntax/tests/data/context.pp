$a = [1, 2]
$c = $x / 2 / 3
$d = 'a' =~ /a\/b/
$e = $h['k'] =~ /x/
notice(1)
(2 + 3).notice
$f = $m ? /re/ => 1
