# An attribute set to undef in a resource body takes no resource default (mysql's my.cnf:
# owner => $mycnf_owner, undef by default, under File { owner => 'root' }).
class srv(Optional[String[1]] $mycnf_owner = undef, Optional[String[1]] $mycnf_group = undef, $manage = true, $root_group = 'root') {
  include srv::config
}
class srv::config {
  File {
    owner  => 'root',
    group  => $srv::root_group,
    mode   => '0400',
  }
  if $srv::manage {
    file { 'cfg':
      path => '/etc/x',
      mode                    => '0644',
      owner                   => $srv::mycnf_owner,
      group                   => $srv::mycnf_group,
      selinux_ignore_defaults => true,
    }
  }
}
class { 'srv': }
