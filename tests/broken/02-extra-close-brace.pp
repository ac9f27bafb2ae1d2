class ntp {
  service { "ntp": ensure => running }
}
}
