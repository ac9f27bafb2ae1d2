# Declares packages through the compile's create_resources.
Puppet::Functions.create_function(:'kit::ensure_pkgs') do
  dispatch :run do
    param 'Array[String[1]]', :names
  end

  def run(names)
    call_function('create_resources', 'package', names.to_h { |n| [n, { 'ensure' => 'installed' }] })
    names.size
  end
end
