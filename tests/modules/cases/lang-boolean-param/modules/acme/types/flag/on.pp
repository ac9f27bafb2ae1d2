# A setting that reads as "on" in an INI file.
type Acme::Flag::On = Variant[Integer[1], Enum['yes', 'on'], Boolean[true]]
