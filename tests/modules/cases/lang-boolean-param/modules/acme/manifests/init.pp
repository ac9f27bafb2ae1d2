class acme (
  Variant[Boolean[false], Integer[1, 15]] $stratum = 10,
  Variant[Boolean[false], Integer[1, 15]] $disabled = false,
  Variant[Acme::Flag::On, Acme::Flag::Off] $compress = true,
  Hash[String, Variant[Acme::Flag::On, Acme::Flag::Off]] $flags = { 'a' => 'yes', 'b' => 0, 'c' => false },
) {
  $is_on = $compress =~ Acme::Flag::On
  $off_count = $flags.filter |$k, $v| { $v =~ Acme::Flag::Off }.length
  notify { "stratum=${stratum} disabled=${disabled} on=${is_on} off=${off_count} t=${Boolean[true]} f=${Boolean[false] =~ Type}": }
}
