define app::vhost($port $docroot) {
}
