file { "/etc/motd":
  ensure  => file
  content => "hello",
}
