# Fails the way module functions fail.
Puppet::Functions.create_function(:'kit::strict') do
  dispatch :check do
    param 'Kit::Port', :port
  end

  def check(port)
    raise Puppet::ParseError, "port #{port} is reserved" if port < 1024
    port
  end
end
