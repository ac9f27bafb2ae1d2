type Acme::Flag::Off = Variant[Integer[0, 0], Enum['no', 'off'], Boolean[false]]
