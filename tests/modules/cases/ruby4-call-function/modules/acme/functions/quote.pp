function acme::quote(Any $value) >> String {
  $value ? {
    String  => "\"${value}\"",
    Array   => $value.map |$v| { acme::quote($v) }.join(', '),
    default => String($value),
  }
}
