# A 4.x function with two signatures, a module type alias, and calls back into the
# compile: a Puppet-language function and a core one.
Puppet::Functions.create_function(:'kit::fmt') do
  dispatch :with_port do
    param 'String[1]', :name
    param 'Kit::Port', :port
  end

  dispatch :bare do
    param 'String[1]', :name
  end

  def with_port(name, port)
    twice = call_function('kit::twice', name)
    call_function('join', [twice, port.to_s], ':')
  end

  def bare(name)
    with_port(name, 80)
  end
end
