$msg = "value: ${x y}"
