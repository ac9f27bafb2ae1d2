class app($port, $docroot, $port) {
}
