node "web" inherits "base" {
}
