File <| title == "a" 
$x = 1
