$list = join(["a", "b"], ","
notice($list)
