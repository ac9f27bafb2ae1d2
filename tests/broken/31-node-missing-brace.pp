node "web01.example.test" 
  include web
}
