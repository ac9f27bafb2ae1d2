define app::vhost(String $docroot, *$rest) {
}
