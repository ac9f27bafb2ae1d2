# A reference written as a string whose title holds quotes of its own (postgresql's
# "UPDATE pg_database ... WHERE datname = 'db'" resources): the quotes are the title's.
node default {
  $sql = "UPDATE pg_database SET datistemplate = false WHERE datname = 'app'"
  exec { $sql: command => '/bin/true' }
  notify { 'before-update': before => "Exec[${sql}]" }
}
