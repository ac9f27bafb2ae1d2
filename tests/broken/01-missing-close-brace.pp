class ntp {
  package { "ntp":
    ensure => installed,
  }

