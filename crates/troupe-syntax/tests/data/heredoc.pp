$a = @(END)
  plain $x \n text
  END
$b = @("END":json/nt)
    {"a": "${x}\tb"}
    | END
$c = @(END/L)
  one \
  two
  |- END
$d = [@(A), @(B)]
  first
  | A
  second
  | B
$e = 1
