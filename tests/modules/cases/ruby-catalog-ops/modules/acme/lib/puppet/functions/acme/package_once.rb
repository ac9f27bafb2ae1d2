# frozen_string_literal: true

# Declares each package unless the catalog has it already, and includes the module's base
# class once: catalog operations from a 4.x function, by call_function and on the scope's catalog.
Puppet::Functions.create_function(:'acme::package_once') do
  dispatch :packages do
    param 'Variant[String[1], Array[String[1]]]', :names
  end

  def packages(names)
    call_function('include', 'acme::base') unless call_function('defined', 'Class[acme::base]')
    Array(names).each do |name|
      next if closure_scope.catalog.resource('Package', name)

      call_function('create_resources', 'package', { name => { 'ensure' => 'installed', 'tag' => 'acme' } })
    end
    nil
  end
end
