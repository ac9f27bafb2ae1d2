class acme (
  Variant[String, Array[String]] $communities = ['public', 'ops'],
  Variant[String, Array[String]] $networks = '10.0.0.0/8',
  String $single = 'one',
  Optional[String] $nothing = undef,
) {
  file { '/etc/snmp/snmpd.conf':
    ensure  => file,
    content => template('acme/snmpd.conf.erb'),
  }
}
