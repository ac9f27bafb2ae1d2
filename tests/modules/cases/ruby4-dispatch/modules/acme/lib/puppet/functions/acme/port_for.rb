# frozen_string_literal: true

# A port for a service name, or one for each name of a list; typed dispatches, an optional
# argument with a default, a return type.
Puppet::Functions.create_function(:'acme::port_for') do
  # @param service the service's name
  # @param fallback the port when the name is not known
  dispatch :for_name do
    param 'String[1]', :service
    optional_param 'Integer[1, 65535]', :fallback
    return_type 'Integer'
  end

  # @param services the services' names
  dispatch :for_names do
    param 'Array[String[1]]', :services
  end

  def for_name(service, fallback = 8080)
    { 'http' => 80, 'https' => 443, 'ssh' => 22, 'postgres' => 5432 }.fetch(service, fallback)
  end

  def for_names(services)
    services.map { |s| for_name(s) }
  end
end
