# Modules default paths from the server's settings (puppetdb's globals: $settings::confdir).
# The values depend on the server's layout, so the catalog records only that they are absolute.
node default {
  $names = ['confdir', 'vardir', 'ssldir', 'codedir', 'rundir', 'logdir']
  $flags = $names.map |$n| { "${n}=${getvar("settings::${n}") =~ /^\//}" }
  notify { 'settings': message => $flags.join(' ') }
}
