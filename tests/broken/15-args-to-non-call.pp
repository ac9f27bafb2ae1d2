myfunc $a, $b
