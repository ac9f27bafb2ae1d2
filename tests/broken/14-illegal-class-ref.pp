Foo::bar { "x": }
