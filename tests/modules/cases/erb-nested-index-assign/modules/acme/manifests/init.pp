class acme (
  Hash $base = { 'storage' => { 'dbPath' => '/var/lib/mongodb' } },
  String $logpath = '/var/log/mongodb/mongod.log',
  Integer $port = 27017,
) {
  file { '/etc/mongod.conf':
    ensure  => file,
    content => template('acme/conf.erb'),
  }
}
